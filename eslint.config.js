// Lint config: typescript-eslint's recommended rules over all first-party TypeScript, plus the import rules that keep
// the parts apart (docs/design.md, "Layout"): each is a no-restricted-imports pattern with the reason as its message.
import tseslint from 'typescript-eslint';

// One rule per part; a file gets every rule of every part it belongs to (flat config would let the last one win).
const RULES = {
  // helper/ runs as root: it must never load launcher code.
  rootSide: {
    paths: [{ name: 'electron', message: 'The root side (helper/) never imports Electron.' }],
    patterns: [{ regex: '(^|/)(electron|renderer)/', message: 'The root side (helper/) never imports the launcher (electron/, renderer/).' }],
  },
  // The boundary module is bundled into the sandboxed preload and renderer and into open-console.
  boundary: {
    patterns: [{ regex: '^(?!\\./)', message: 'helper/src/boundary/ imports nothing from Node, Electron or the rest of the repository, only its own files.' }],
  },
  // The launcher takes nothing from the helper but the boundary module.
  launcher: {
    patterns: [{ regex: '(^|/)helper/(?!src/boundary/index\\.js$)', message: 'The launcher imports from helper/ only helper/src/boundary/index.js.' }],
  },
  // Services are plain Node modules, tested without Electron.
  services: {
    paths: [{ name: 'electron', message: 'electron/services/ never imports Electron: services are plain Node, tested without it.' }],
  },
  // The IPC contract goes into the sandboxed preload: no Node, no Electron.
  contract: {
    paths: [{ name: 'electron', message: 'electron/contract.ts is bundled into the sandboxed preload: no Electron imports.' }],
    patterns: [{ regex: '^node:', message: 'electron/contract.ts is bundled into the sandboxed preload: no Node imports.' }],
  },
  // The renderer runs sandboxed and talks only to window.api.
  renderer: {
    patterns: [{ regex: '^(?!\\./|\\.\\./electron/contract\\.js$|\\.\\./helper/src/boundary/index\\.js$)', message: 'renderer/ imports only ../electron/contract.js, ../helper/src/boundary/index.js and its own files.' }],
  },
};

/** One config object restricting `files` by the named parts' rules. */
function restrict(files, ...parts) {
  const rules = parts.map((p) => RULES[p]);
  return {
    files,
    rules: {
      'no-restricted-imports': ['error', { paths: rules.flatMap((r) => r.paths ?? []), patterns: rules.flatMap((r) => r.patterns ?? []) }],
    },
  };
}

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', 'test-artifacts/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // Most specific last: a file matched by several entries gets the last one, which lists every part it belongs to.
  restrict(['helper/**/*.ts'], 'rootSide'),
  restrict(['helper/src/boundary/**/*.ts'], 'rootSide', 'boundary'),
  restrict(['electron/**/*.ts'], 'launcher'),
  restrict(['electron/services/**/*.ts'], 'launcher', 'services'),
  restrict(['electron/contract.ts'], 'launcher', 'contract'),
  restrict(['renderer/**/*.ts'], 'renderer'),
);
