// The import rules in eslint.config.js fail the lint when broken (issue 14): each forbidden import, linted with the
// real config as if it sat in that folder, is an error naming the rule; the allowed ones next to it pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ESLint } from 'eslint';

const root = path.resolve(import.meta.dirname, '../..');
const eslint = new ESLint({ cwd: root });

async function importErrors(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(`import '${source}';\n`, { filePath: path.join(root, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

const CASES: { file: string; refused: string[]; allowed: string[]; says: RegExp }[] = [
  { file: 'helper/src/plan/x.ts', refused: ['../../../electron/contract.js', '../../../renderer/app.js', 'electron'], allowed: ['../policy/types.js', 'node:fs', '../boundary/index.js'], says: /root side/ },
  { file: 'helper/src/open-console.ts', refused: ['../../electron/services/views.js'], allowed: ['./boundary/index.js'], says: /root side/ },
  { file: 'helper/src/boundary/x.ts', refused: ['node:path', 'fs', 'electron', 'yaml', '../policy/names.js', '../../../electron/contract.js'], allowed: ['./time.js'], says: /boundary|root side/ },
  { file: 'electron/services/x.ts', refused: ['electron', '../../helper/src/policy/names.js'], allowed: ['node:fs', 'execa', '../../helper/src/boundary/index.js', './views.js'], says: /Electron|helper\/src\/boundary/ },
  { file: 'electron/main/x.ts', refused: ['../../helper/src/plan/views.js', '../../helper/src/open-console.js'], allowed: ['electron', '../contract.js', '../../helper/src/boundary/index.js'], says: /only helper\/src\/boundary/ },
  { file: 'electron/contract.ts', refused: ['electron', 'node:fs'], allowed: ['../helper/src/boundary/index.js', './services/views.js'], says: /sandboxed preload/ },
  { file: 'renderer/x.ts', refused: ['../electron/services/views.js', '../electron/main/ipc.js', '../helper/src/boundary/time.js', 'node:fs', 'electron', '../helper/src/plan/views.js'], allowed: ['./dom.js', '../electron/contract.js', '../helper/src/boundary/index.js'], says: /renderer\/ imports only/ },
];

for (const c of CASES) {
  test(`${c.file}: forbidden imports fail the lint, allowed ones pass`, async () => {
    for (const source of c.refused) {
      const errors = await importErrors(c.file, source);
      assert.ok(errors.length > 0, `${c.file} may import ${source}, but should not`);
      assert.match(errors.join('\n'), c.says, `${c.file} ← ${source}`);
    }
    for (const source of c.allowed) assert.deepEqual(await importErrors(c.file, source), [], `${c.file} ← ${source}`);
  });
}
