// The boundary module: everything that crosses a process boundary between the helper (root), open-console (the sudo
// target) and the launcher (the user's). Imports nothing from Node or Electron; see README.md.
export { BoundaryError } from './check.js';
export { ACCOUNT_RE, ID_RE, PATH_RE, isId, isSafePath } from './names.js';
export { DEFAULT_PATHS, STATE_DIR_ENV, TABLE_FILE, VIEWS_DIR, tablePath, viewPath } from './paths.js';
export { TABLE_VERSION, parseTable, type ConsoleTable, type TableVm } from './table.js';
export { DAYS, DAY_MINUTES, describeWindow, isDay, localClock, parseHours, policyClock, windowContains, type Clock, type Day, type TimeWindow } from './time.js';
export { parseView, type ViewFile, type ViewVm, type ViewWindow } from './view.js';
