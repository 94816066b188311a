export { DEMO_ACCOUNTS, type DemoAccount } from './accounts';
export { createGraphSandbox, startGraphSandbox, type GraphSandbox, type RunningGraphSandbox } from './app';
export type {
  CallCounts,
  GraphSandboxControl,
  GraphSandboxOptions,
  Injection,
  InjectionInput,
  InstagramModeInput,
  PageModeInput,
  QuotaInput,
  ServedCall,
  TokenInput,
  TokenStatus,
} from './state';
