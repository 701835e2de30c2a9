/**
 * Credentials inside Lambda: the runtime puts the execution role's credentials in the environment
 * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), so the bundles read them from there only.
 * scripts/delivery/build.ts substitutes this module for @aws-sdk/credential-provider-node, which keeps the SSO, STS, INI,
 * process and IMDS providers (about 70 KB minified) out of every bundle. Code run outside the bundles (tests,
 * scripts) keeps the SDK's full default chain.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env'

export const defaultProvider = (init?: Parameters<typeof fromEnv>[0]) => fromEnv(init)
