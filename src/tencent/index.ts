/** Public surface of the Tencent Cloud Chat module. */
export * from './types.js';
export {
  TencentError,
  classifyErrorCode,
  tencentErrorLabels,
  isTencentError,
  rejectsCredentials,
  isTransient,
  ERROR_CODE_RULES,
  TENCENT_ERROR_CODES,
  RATE_LIMIT_RETRY_AFTER_MS,
  LOCKED_RETRY_AFTER_MS,
  type TencentErrorKind,
  type TencentErrorCode,
  type TencentErrorFields,
} from './errors.js';
export { parseOnlineStatusResponse, normalizePlatform, type ParseOptions } from './parse.js';
export { UserIdList } from './user-id-list.js';
export {
  REGION_HOSTS,
  isRegion,
  resolveEndpoint,
  type Region,
  type RegionHosts,
  type EndpointChoice,
} from './regions.js';
export {
  computeUserSigHmac,
  generateUserSig,
  verifyUserSig,
  userSigSignedWith,
  type UserSigContent,
  type GenerateUserSigInput,
  type VerifyUserSigInput,
  type UserSigVerification,
  type UserSigFailure,
} from './usersig.js';
export {
  createUserSigCache,
  renewalMarginMs,
  DEFAULT_USERSIG_TTL_SECONDS,
  type UserSigCache,
  type UserSigCacheOptions,
} from './usersig-cache.js';
export {
  createTencentClient,
  DEFAULT_CLIENT_OPTIONS,
  MIN_TIMEOUT_MS,
  QUERY_ONLINE_STATUS_PATH,
  type TencentClientOptions,
} from './client.js';
export {
  createDirectTransport,
  TransportError,
  type Transport,
  type TransportRequest,
  type TransportResponse,
  type TransportFailureReason,
  type DirectTransportOptions,
} from './transport.js';
export { signCallback, verifyCallbackSign } from './callback-sign.js';
