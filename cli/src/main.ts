import { USAGE } from './usage.js';

// Each command imports its packages when it runs, not before: loading every command's packages up front
// (the collector and its gRPC server in the export service, and the reverse) cost 14–19 MiB of idle RSS.
async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      return (await import('./start-command.js')).startCommand();
    case 'collector':
      return (await import('./collector-command.js')).collectorCommand();
    case 'export-service':
      return (await import('./export-service-command.js')).exportServiceCommand();
    case 'setup':
      return (await import('./setup-command.js')).setupCommand(rest);
    case 'token':
      return (await import('./token-command.js')).tokenCommand(rest);
    case 'dashboards':
      return (await import('./dashboards-command.js')).dashboardsCommand(rest);
    case 'keygen':
      return (await import('./integrity-commands.js')).keygenCommand(rest);
    case 'verify':
      return (await import('./integrity-commands.js')).verifyCommand(rest);
    case 'verify-export':
      return (await import('./integrity-commands.js')).verifyExportCommand(rest);
    case 'dead-letters':
      return (await import('./dead-letters.js')).deadLettersCommand(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return;
    default:
      throw new Error(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(`otel-audit: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
