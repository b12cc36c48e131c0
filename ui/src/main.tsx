import { createRoot } from "react-dom/client";
import { takeToken } from "./platform";
import { App } from "./App";
import "./style.css";

takeToken();
createRoot(document.getElementById("root")!).render(<App />);
