#!/usr/bin/env node
import { main } from '../dist/agent.js';

// Exit when done: a finished CLI should not wait for idle keep-alive sockets.
process.exit(await main(process.argv.slice(2)));
