// Entry point of the bundled open-console.
import { openConsoleMain } from './open-console.js';

openConsoleMain(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
