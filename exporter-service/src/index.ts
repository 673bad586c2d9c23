export { buildExportService, mayViewAllUsers, ALL_USERS_PERMISSIONS, EXPORT_SERVICE_DEFAULTS } from './build-export-service.js';
export type { ExportServiceOptions } from './build-export-service.js';
export { exportServiceConfigFromEnv } from './export-service-config.js';
export type { ExportServiceConfig } from './export-service-config.js';
export { createAuthenticator, loadOrCreateDevSecret, signToken, DEFAULT_CLAIMS, DEV_SECRET_FILE } from './auth.js';
export type { Authenticator, AuthOptions, Caller, ClaimNames, TokenClaims } from './auth.js';
export { ExportError, EXPORT_ERRORS } from './errors.js';
export type { ExportErrorCode } from './errors.js';
