#!/usr/bin/env node
// A committed launcher, so that `npm ci` can link the bin before the first build.
import '../dist/main.js';
