// `agnox-agent`: parse settings, run the agent, translate signals. SIGTERM/SIGINT drains; a second
// one stops running jobs (reported as agent_stop) and exits once they are reported.
import { Agent, FatalAgentError } from './agent';
import { AGENT_USAGE, ConfigError, isLoopbackHost, parseAgentConfig } from './config';
import { DockerError } from './docker-runner';
import { consoleLogger, errorMessage } from './log';

export async function main(argv: string[] = process.argv.slice(2)): Promise<number> {
  const logger = consoleLogger();
  let config: ReturnType<typeof parseAgentConfig>;
  try {
    config = parseAgentConfig(argv);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`agnox-agent: ${err.message}\n\n${AGENT_USAGE}\n`);
      return 2;
    }
    throw err;
  }
  if (config === 'help') {
    process.stdout.write(`${AGENT_USAGE}\n`);
    return 0;
  }
  const url = new URL(config.url);
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname))
    logger.warn(`--insecure: talking plain http to ${url.host}; the agent's token and jobs' secrets cross the network unencrypted`);
  const agent = new Agent({ ...config, logger });
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      logger.info(`${sig}: draining (send it again to stop running jobs)`);
      agent.drain();
    } else if (signals === 2) {
      logger.warn(`${sig} again: stopping running jobs`);
      void agent.stopJobs();
    } else {
      logger.error(`${sig} a third time: exiting now`);
      process.exit(130);
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await agent.run();
    return 0;
  } catch (err) {
    if (err instanceof FatalAgentError || err instanceof DockerError) logger.error(err.message);
    else logger.error(`stopped: ${err instanceof Error ? (err.stack ?? err.message) : errorMessage(err)}`);
    return 1;
  }
}
