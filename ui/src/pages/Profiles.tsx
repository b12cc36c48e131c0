import { useEffect, useState } from "react";
import type { ProfileView } from "../bindings/ProfileView";
import type { ProfileInput } from "../bindings/ProfileInput";
import type { ApiError } from "../bindings/ApiError";
import { call, CallError } from "../platform";
import { ErrorBox } from "./Overview";

const empty: ProfileInput = {
  name: "",
  read_only: true,
  redis_url: null,
  postgres_url: null,
  prometheus_url: null,
  kubernetes_url: null,
  kubernetes_token: null,
  celery_broker_url: null,
};

export function Profiles({ onChange }: { onChange: () => void }) {
  const [list, setList] = useState<ProfileView[]>([]);
  const [form, setForm] = useState<ProfileInput>(empty);
  const [error, setError] = useState<ApiError | null>(null);
  const load = () => call("list_profiles", {}).then(setList).catch((e) => setError(e instanceof CallError ? e.error : null));
  useEffect(() => {
    load();
  }, []);
  const field = (key: keyof ProfileInput, label: string, type = "text") => (
    <label>
      {label}
      <input
        type={type}
        value={(form[key] as string | null) ?? ""}
        onChange={(e) => setForm({ ...form, [key]: e.target.value || null })}
      />
    </label>
  );
  return (
    <div>
      <table>
        <thead>
          <tr>
            <th>name</th>
            <th>origin</th>
            <th>endpoints</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          {list.map((p) => (
            <tr key={p.name}>
              <td>
                {p.name} {p.read_only && <span className="badge">read-only</span>}
              </td>
              <td>{p.origin}</td>
              <td>
                {p.endpoints.map((e) => (
                  <div key={e.service}>
                    {e.service}: {e.url} {e.has_secret && "🔒"}
                  </div>
                ))}
              </td>
              <td>
                {p.origin === "file" && (
                  <button
                    onClick={() =>
                      confirm(`Delete profile ${p.name}?`) &&
                      call("delete_profile", { name: p.name }).then(() => (load(), onChange()))
                    }
                  >
                    delete
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form
        className="card"
        data-testid="profile-form"
        onSubmit={(ev) => {
          ev.preventDefault();
          call("save_profile", form)
            .then(() => (setError(null), setForm(empty), load(), onChange()))
            .catch((e) => setError(e instanceof CallError ? e.error : { code: "internal", message: String(e) }));
        }}
      >
        <h3>Add or replace a profile</h3>
        {field("name", "Name")}
        <label>
          <input type="checkbox" checked={form.read_only} onChange={(e) => setForm({ ...form, read_only: e.target.checked })} />{" "}
          read-only
        </label>
        {field("redis_url", "Redis URL")}
        {field("postgres_url", "PostgreSQL URL")}
        {field("prometheus_url", "Prometheus URL")}
        {field("kubernetes_url", "Kubernetes API URL")}
        {field("kubernetes_token", "Kubernetes token", "password")}
        {field("celery_broker_url", "Celery broker URL")}
        <button type="submit" data-testid="profile-save">
          Save
        </button>
        {error && (
          <div data-testid="profile-error">
            <ErrorBox error={error} />
          </div>
        )}
      </form>
    </div>
  );
}
