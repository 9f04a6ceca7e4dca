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
    setup: () => import("./setup.ts").then((m) => m.default),
    register: () => import("./register.ts").then((m) => m.default),
    start: () => import("./start.ts").then((m) => m.default),
    status: () => import("./status.ts").then((m) => m.default),
    healthcheck: () => import("./healthcheck.ts").then((m) => m.default),
    stop: () => import("./stop.ts").then((m) => m.default),
    canary: () => import("./canary.ts").then((m) => m.default),
    service: () => import("./service.ts").then((m) => m.default),
    price: () => import("./price.ts").then((m) => m.default),
    version: () => import("./version.ts").then((m) => m.versionCommand("basis-worker")),
  },
});
