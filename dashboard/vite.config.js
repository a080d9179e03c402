// Build of the dashboard: served by the Function App under /api/dashboard/.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";
import vue from "@vitejs/plugin-vue";

const root = fileURLToPath(new URL(".", import.meta.url));
const api = process.env.DASHBOARD_API ?? "http://127.0.0.1:7071";

export default defineConfig({
  root,
  base: "/api/dashboard/",
  plugins: [vue()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    target: "es2022",
    // One CSS file and hashed assets: the page needs no inline script or style.
    cssCodeSplit: false,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 600,
    rollupOptions: {
      onwarn(warning, warn) {
        // @microsoft/signalr ships /*#__PURE__*/ comments Rollup cannot place; harmless.
        if (warning.code === "INVALID_ANNOTATION") return;
        warn(warning);
      },
    },
  },
  server: {
    proxy: { "^/api/(?!dashboard)": { target: api, ws: true, changeOrigin: false } },
  },
});
