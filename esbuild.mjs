// Bundles the extension (CommonJS, `vscode` external) and the `headroom` CLI into dist/.
// Type-checking is tsc's job (`npm run check-types`); esbuild only strips types.
import * as esbuild from 'esbuild';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  sourcesContent: false,
  minify: production,
  logLevel: 'warning',
  // node-llama-cpp is a dev/test tool only; never bundled.
  external: ['vscode', 'node-llama-cpp'],
};

// Activation cost is dominated by compiling the bundle (~100 ms per MB): extension.js holds only the status bar and
// command registrations; everything behind the commands is dist/controller.js, required on first use.
const lazyController = {
  name: 'lazy-controller',
  setup(b) {
    b.onResolve({ filter: /^\.\/views\/controller\.js$/ }, () => ({ path: './controller.js', external: true }));
  },
};

const builds = [
  { ...common, entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js', plugins: [lazyController], supported: { 'dynamic-import': false } },
  { ...common, entryPoints: ['src/views/controller.ts'], outfile: 'dist/controller.js' },
  { ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
  // The panel webview's script: browser code, loaded from media/ (the webview's only resource root).
  { ...common, entryPoints: ['src/views/webview/main.ts'], outfile: 'media/build/panel.js', platform: 'browser', format: 'iife', target: 'es2022', external: [], minify: true, sourcemap: false },
];

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
