import { describe, expect, it } from 'vitest';
import { COLLECTOR_DEFAULTS, collectorConfigFromEnv, collectorOptionsFromConfig } from '@otel-audit/collector';

describe('collector configuration: OTLP/gRPC', () => {
  it('is on by default at 4317 on the HTTP host, and reaches the collector options', () => {
    const config = collectorConfigFromEnv({});
    expect(config.grpcPort).toBe(COLLECTOR_DEFAULTS.grpcPort);
    expect(COLLECTOR_DEFAULTS.grpcPort).toBe(4317);
    expect(collectorOptionsFromConfig(config).grpc).toEqual({ host: '127.0.0.1', port: 4317 });
    const beyond = collectorConfigFromEnv({ AUDIT_COLLECTOR_HOST: '::1', AUDIT_COLLECTOR_GRPC_PORT: '0' });
    expect(collectorOptionsFromConfig(beyond).grpc).toEqual({ host: '::1', port: 0 });
  });

  it('is off with AUDIT_COLLECTOR_GRPC=false: no grpc option at all', () => {
    const config = collectorConfigFromEnv({ AUDIT_COLLECTOR_GRPC: 'false' });
    expect(config.grpcPort).toBeUndefined();
    expect('grpc' in collectorOptionsFromConfig(config)).toBe(false);
  });

  it('fails fast naming a bad variable and its value', () => {
    expect(() => collectorConfigFromEnv({ AUDIT_COLLECTOR_GRPC_PORT: 'grpc' })).toThrow(/AUDIT_COLLECTOR_GRPC_PORT .*"grpc"/);
    expect(() => collectorConfigFromEnv({ AUDIT_COLLECTOR_GRPC_PORT: '70000' })).toThrow(/AUDIT_COLLECTOR_GRPC_PORT .*"70000"/);
    expect(() => collectorConfigFromEnv({ AUDIT_COLLECTOR_GRPC: 'no' })).toThrow('AUDIT_COLLECTOR_GRPC must be true or false, got "no"');
    // Checked while off too, so a typo does not wait for the day gRPC is turned on.
    expect(() => collectorConfigFromEnv({ AUDIT_COLLECTOR_GRPC: 'false', AUDIT_COLLECTOR_GRPC_PORT: 'x' })).toThrow(/AUDIT_COLLECTOR_GRPC_PORT/);
    expect(() => collectorConfigFromEnv({ AUDIT_COLLECTOR_PORT: '5000', AUDIT_COLLECTOR_GRPC_PORT: '5000' })).toThrow(
      'AUDIT_COLLECTOR_GRPC_PORT (5000) must differ from AUDIT_COLLECTOR_PORT (5000)',
    );
    // Both 0: each gets its own free port.
    expect(collectorConfigFromEnv({ AUDIT_COLLECTOR_PORT: '0', AUDIT_COLLECTOR_GRPC_PORT: '0' }).grpcPort).toBe(0);
  });

  it('shares the host, so the loopback rule covers it: beyond loopback needs sender tokens', () => {
    expect(() => collectorConfigFromEnv({ AUDIT_COLLECTOR_HOST: '0.0.0.0' })).toThrow(/listens beyond loopback without sender authentication/);
    const config = collectorConfigFromEnv({ AUDIT_COLLECTOR_HOST: '0.0.0.0', AUDIT_COLLECTOR_TOKENS: 'token-for-billing-0123456789=billing' });
    expect(collectorOptionsFromConfig(config).grpc).toEqual({ host: '0.0.0.0', port: 4317 });
    expect(collectorOptionsFromConfig(config).senderTokens).toHaveLength(1);
  });
});
