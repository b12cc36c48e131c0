import { useEffect, useState } from "react";
import type { ProfileView } from "./bindings/ProfileView";
import { call } from "./platform";
import { Overview } from "./pages/Overview";
import { Profiles } from "./pages/Profiles";
import { CachePage } from "./pages/CachePage";
import { RedisPage } from "./pages/RedisPage";
import { DatabasePage } from "./pages/DatabasePage";
import { AdvisorPage, SeverityBadges, useAdviceCounts } from "./pages/AdvisorPage";
import { systemCounts, type System } from "./pages/advisor/PageFindings";
import { QueuesPage } from "./pages/QueuesPage";
import { ClusterPage } from "./pages/ClusterPage";
import { QueryLabPage } from "./pages/QueryLabPage";

export type Page = "overview" | "redis" | "database" | "queues" | "cluster" | "advisor" | "profiles" | "cache" | "querylab";

/** The window: the navigation (with the advisor's badges) and the page shown. */
export function App() {
  const [page, setPage] = useState<Page>("overview");
  const [profiles, setProfiles] = useState<ProfileView[]>([]);
  const [profile, setProfile] = useState(localStorage.getItem("simba-profile") ?? "embedded");
  // The advisor's badges: one `advise` now, then at most once a minute (or the page's own run).
  // The Advisor item counts every finding, each monitoring page its own system's, all from that report.
  const advice = useAdviceCounts(profile);
  const openAdvisor = () => setPage("advisor");
  const findings = { advice: advice.report, onOpenAdvisor: openAdvisor };
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
  const systemNav = (p: System, label: string) => nav(p, label, <SeverityBadges counts={systemCounts(advice.report, p)} testid={`nav-${p}-badges`} />);
  return (
    <div className="app">
      <nav>
        <h1>Simba Tuner</h1>
        {nav("overview", "Overview")}
        {systemNav("redis", "Redis")}
        {systemNav("database", "Database")}
        {systemNav("queues", "Queues")}
        {systemNav("cluster", "Cluster")}
        {nav("advisor", "Advisor", <SeverityBadges counts={advice.counts} testid="nav-advisor-badges" />)}
        {nav("profiles", "Profiles")}
        {systemNav("cache", "Cache")}
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
        {page === "redis" && <RedisPage profile={profile} {...findings} />}
        {page === "database" && <DatabasePage profile={profile} {...findings} />}
        {page === "queues" && <QueuesPage profile={profile} {...findings} />}
        {page === "cluster" && <ClusterPage profile={profile} {...findings} />}
        {page === "advisor" && <AdvisorPage profile={profile} onReport={advice.update} />}
        {page === "profiles" && <Profiles onChange={loadProfiles} />}
        {page === "cache" && <CachePage {...findings} />}
        {page === "querylab" && <QueryLabPage />}
      </main>
    </div>
  );
}
