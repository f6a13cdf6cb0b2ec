// Builds the dashboard into web/dist (served by the Worker as static assets). `npm run dev:web`
// serves it with hot reload on :5173 and proxies /api (HTTP and WebSockets) to the local Worker.
import preact from '@preact/preset-vite';
import tailwindcss from '@tailwindcss/vite';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  plugins: [preact(), tailwindcss()],
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: false },
  server: {
    port: 5173,
    proxy: { '/api': { target: 'http://127.0.0.1:8787', ws: true, changeOrigin: true } },
  },
});
