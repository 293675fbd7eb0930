import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vitest/config';

// `FLATSPACE_API` points the dev server's proxy at a running `flatspace serve`.
const api = process.env.FLATSPACE_API ?? 'http://127.0.0.1:8790';

export default defineConfig({
  plugins: [svelte()],
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', reportCompressedSize: true },
  server: { proxy: { '/api': { target: api, ws: true } } },
  test: { include: ['src/**/*.test.ts'], environment: 'node' },
});
