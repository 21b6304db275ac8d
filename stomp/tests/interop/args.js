// `--name value` arguments with defaults; a default of null makes the argument required.
'use strict';
module.exports = function parse(argv, defaults) {
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, '');
    if (!(name in defaults) || i + 1 >= argv.length) {
      console.error(`unknown or incomplete argument ${argv[i]}; known: ${Object.keys(defaults).join(', ')}`);
      process.exit(2);
    }
    out[name] = argv[i + 1];
  }
  for (const [k, v] of Object.entries(out)) {
    if (v === null) {
      console.error(`--${k} is required`);
      process.exit(2);
    }
  }
  return out;
};
