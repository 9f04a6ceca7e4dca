/** The basis-worker root command. Sub-commands load on use so --help and --version stay light. */
import { defineCommand } from "citty";
import { VERSION } from "../version.ts";

export default defineCommand({
  meta: {
    name: "basis-worker",
    version: VERSION,
    description: "Basis contributor worker: serve inference jobs from this machine. Holds no key; routing and settlement are gated by the network",
  },
  subCommands: {
    start: () => import("./start.ts").then((m) => m.default),
    canary: () => import("./canary.ts").then((m) => m.default),
  },
});
