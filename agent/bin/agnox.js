#!/usr/bin/env node
import { main } from '../dist/ci.js';

process.exitCode = await main(process.argv.slice(2));
