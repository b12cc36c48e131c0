//! Alert rules over the stored history.
