import { defineConfig } from "vitest/config";

// One run, two projects, so the 2 workers stay busy across both (no tail between two runs):
//   main    every test/**/*.test.ts outside test/faults
//   faults  the fault suite (test/faults), with its ledger and summary line (npm run test:faults)
export default defineConfig({
  test: {
    // End-to-end tests train tiny models through the real train.py; 2 cores here.
    testTimeout: 240_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: "main", include: ["test/**/*.test.ts"], exclude: ["test/faults/**", "**/node_modules/**"] } },
      { extends: true, test: { name: "faults", include: ["test/faults/**/*.test.ts"], globalSetup: ["test/faults/global-setup.ts"] } },
    ],
  },
});
