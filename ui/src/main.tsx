import { useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import type { ProfileView } from "./bindings/ProfileView";
import { call, takeToken } from "./platform";
import { Overview } from "./pages/Overview";
import { Profiles } from "./pages/Profiles";
import { CachePage } from "./pages/CachePage";
import { RedisPage } from "./pages/RedisPage";
import { DatabasePage } from "./pages/DatabasePage";
import { AdvisorPage, SeverityBadges, useAdviceCounts } from "./pages/AdvisorPage";
import { QueuesPage } from "./pages/QueuesPage";
import { ClusterPage } from "./pages/ClusterPage";
import { QueryLabPage } from "./pages/QueryLabPage";
import "./style.css";

type Page = "overview" | "redis" | "database" | "queues" | "cluster" | "advisor" | "profiles" | "cache" | "querylab";

function App() {
  const [page, setPage] = useState<Page>("overview");
  const [profiles, setProfiles] = useState<ProfileView[]>([]);
  const [profile, setProfile] = useState(localStorage.getItem("simba-profile") ?? "embedded");
  // The Advisor item's badges: one `advise` now, then at most once a minute (or the page's own run).
  const advice = useAdviceCounts(profile);
  const loadProfiles = () => call("list_profiles", {}).then(setProfiles).catch(() => {});
  useEffect(() => {
    loadProfiles();
  }, []);
  const nav = (p: Page, label: string, badges?: React.ReactNode) => (
    <button className={page === p ? "active" : ""} data-testid={`nav-${p}`} onClick={() => setPage(p)}>
      {label}
      {badges}
    </button>
  );
  return (
    <div className="app">
      <nav>
        <h1>Simba Tuner</h1>
        {nav("overview", "Overview")}
        {nav("redis", "Redis")}
        {nav("database", "Database")}
        {nav("queues", "Queues")}
        {nav("cluster", "Cluster")}
        {nav("advisor", "Advisor", <SeverityBadges counts={advice.counts} testid="nav-advisor-badges" />)}
        {nav("profiles", "Profiles")}
        {nav("cache", "Cache")}
        {nav("querylab", "Query Lab")}
      </nav>
      <main>
        <header>
          <select
            data-testid="profile-select"
            value={profile}
            onChange={(e) => (setProfile(e.target.value), localStorage.setItem("simba-profile", e.target.value))}
          >
            {(profiles.length ? profiles.map((p) => p.name) : ["embedded"]).map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </header>
        {page === "overview" && <Overview profile={profile} />}
        {page === "redis" && <RedisPage profile={profile} />}
        {page === "database" && <DatabasePage profile={profile} />}
        {page === "queues" && <QueuesPage profile={profile} />}
        {page === "cluster" && <ClusterPage profile={profile} />}
        {page === "advisor" && <AdvisorPage profile={profile} onReport={advice.update} />}
        {page === "profiles" && <Profiles onChange={loadProfiles} />}
        {page === "cache" && <CachePage />}
        {page === "querylab" && <QueryLabPage />}
      </main>
    </div>
  );
}

takeToken();
createRoot(document.getElementById("root")!).render(<App />);
