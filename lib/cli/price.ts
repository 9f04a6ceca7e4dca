import { defineCommand } from "citty";

export default defineCommand({
  meta: { name: "price", description: "Price/model manifests: tell the market which models this worker serves and its ask prices" },
  subCommands: {
    publish: () => import("./price-publish.ts").then((m) => m.default),
  },
});
