'use strict';
// The package entry for require(); the code is lib/ (compiled from ts/ by `npm run build:ts`).
module.exports = require('./lib/index.js');
