//! Kubernetes resource quantities (`"487558164n"`, `"250m"`, `"732212Ki"`, `"1Gi"`, `"1e3"`,
//! `"1.5"`) per the grammar of k8s.io/apimachinery's `resource.Quantity`:
//!
//! ```text
//! quantity        ::= signedNumber suffix
//! suffix          ::= binarySI | decimalExponent | decimalSI
//! binarySI        ::= Ki | Mi | Gi | Ti | Pi | Ei
//! decimalSI       ::= n | u | m | "" | k | M | G | T | P | E
//! decimalExponent ::= "e" signedNumber | "E" signedNumber
//! signedNumber    ::= [+-] (digits | digits "." digits | digits "." | "." digits)
//! ```
//!
//! A value is returned in base units (cores for CPU, bytes for memory) as an f64: usage figures
//! need no more than its 15 significant digits.

/// The value of a quantity in base units, or why it is not one.
pub fn parse_quantity(text: &str) -> Result<f64, String> {
    let bad = |why: &str| format!("'{}' is not a Kubernetes quantity ({why})", text.escape_debug());
    let s = text.trim();
    if s.is_empty() {
        return Err(bad("empty"));
    }
    let number_end = s.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-')).unwrap_or(s.len());
    let (number, suffix) = s.split_at(number_end);
    let mantissa = signed_number(number).ok_or_else(|| bad("bad number"))?;
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exp if exp.starts_with(['e', 'E']) => {
            let e = signed_number(&exp[1..]).filter(|_| !exp[1..].contains('.')).ok_or_else(|| bad("bad exponent"))?;
            10f64.powf(e)
        }
        other => return Err(bad(&format!("unknown suffix '{}'", other.escape_debug()))),
    };
    let v = mantissa * factor;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(bad("out of range"))
    }
}

/// `[+-] (digits | digits.digits | digits. | .digits)`.
fn signed_number(s: &str) -> Option<f64> {
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (int, frac) = match unsigned.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (unsigned, None),
    };
    let digits = |d: &str| d.chars().all(|c| c.is_ascii_digit());
    let ok = digits(int)
        && frac.is_none_or(digits)
        && !(int.is_empty() && frac.is_none_or(str::is_empty))
        && !unsigned.is_empty();
    if !ok {
        return None;
    }
    s.parse().ok().or_else(|| format!("{s}0").parse().ok())
}

/// CPU in cores as Kubernetes writes it: `250m`, `1.5`, `12m`; below a millicore, `µ`.
pub fn format_cores(cores: f64) -> String {
    if cores >= 1.0 {
        format!("{}", (cores * 100.0).round() / 100.0)
    } else if cores >= 0.001 || cores == 0.0 {
        format!("{}m", (cores * 1000.0).round())
    } else {
        format!("{:.0}u", cores * 1e6)
    }
}

/// Bytes as Kubernetes writes memory: `512Mi`, `1.5Gi`, `732212Ki`-sized figures rounded.
pub fn format_bytes(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["", "Ki", "Mi", "Gi", "Ti"];
    let mut v = bytes;
    let mut i = 0;
    while v.abs() >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{v:.0}")
    } else {
        format!("{}{}", (v * 10.0).round() / 10.0, UNITS[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= b.abs() * 1e-12 + 1e-15
    }

    #[test]
    fn parses_the_grammar() {
        let cases: &[(&str, f64)] = &[
            ("487558164n", 0.487558164),
            ("250m", 0.25),
            ("732212Ki", 732212.0 * 1024.0),
            ("1Gi", 1073741824.0),
            ("1e3", 1000.0),
            ("1E3", 1000.0),
            ("1.5", 1.5),
            ("0", 0.0),
            ("100", 100.0),
            ("2k", 2000.0),
            ("128974848", 128974848.0),
            ("129e6", 129e6),
            ("123Mi", 123.0 * 1048576.0),
            ("1E", 1e18),
            ("5.", 5.0),
            (".5", 0.5),
            ("+1", 1.0),
            ("-1m", -0.001),
            ("12u", 12e-6),
            ("1e-3", 0.001),
            ("2.5Gi", 2.5 * 1073741824.0),
        ];
        for (text, want) in cases {
            let got = parse_quantity(text).unwrap_or_else(|e| panic!("{e}"));
            assert!(close(got, *want), "{text}: {got} != {want}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_quantity() {
        for bad in ["", "abc", "1.2.3", "1KB", "1ki", "Mi", ".", "1e", "1e1.5", "--1", "1 Gi", "+", "1mi"] {
            assert!(parse_quantity(bad).is_err(), "{bad} was accepted");
        }
        assert!(parse_quantity("1Xi").unwrap_err().contains("unknown suffix"));
    }

    #[test]
    fn formats_as_kubectl_does() {
        assert_eq!(format_cores(0.25), "250m");
        assert_eq!(format_cores(0.487558164), "488m");
        assert_eq!(format_cores(1.5), "1.5");
        assert_eq!(format_bytes(732212.0 * 1024.0), "715.1Mi");
        assert_eq!(format_bytes(1073741824.0), "1Gi");
        assert_eq!(format_bytes(512.0), "512");
    }
}
