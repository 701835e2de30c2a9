/**
 * DynamoDB's ClientRequestToken rules, which moto does not apply, played in front of a client: within 10 minutes,
 * a TransactWriteItems whose token was seen with other parameters fails with IdempotentParameterMismatchException,
 * and one whose token was seen with the same parameters succeeds without being applied (nothing is sent on).
 * Documented in the TransactWriteItems API reference ("ClientRequestToken").
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'

const WINDOW_MS = 10 * 60 * 1000

export interface TokenLog {
  /** Every token seen, in order. */
  tokens: string[]
  /** Calls answered as DynamoDB would without applying them (a reused token with the same parameters). */
  replayed: number
}

export const emulateTokenRules = (
  client: DynamoDBClient | DynamoDBDocumentClient,
  now = () => Date.now(),
): TokenLog => {
  const seen = new Map<string, { params: string; at: number }>()
  const log: TokenLog = { tokens: [], replayed: 0 }
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'TransactWriteItemsCommand') return next(args)
      const request = args.request as { body?: string }
      const { ClientRequestToken: token, ...params } = JSON.parse(request.body ?? '{}') as Record<string, unknown>
      if (typeof token !== 'string') return next(args)
      log.tokens.push(token)
      const key = JSON.stringify(params)
      const earlier = seen.get(token)
      if (earlier && now() - earlier.at < WINDOW_MS) {
        if (earlier.params !== key) {
          throw Object.assign(new Error('Request has a different set of parameters than the original request'), {
            name: 'IdempotentParameterMismatchException',
            $fault: 'client',
          })
        }
        log.replayed += 1
        return { output: { $metadata: { httpStatusCode: 200 } }, response: {} } as never
      }
      seen.set(token, { params: key, at: now() })
      return next(args)
    },
    { step: 'build', name: 'emulateTokenRules' },
  )
  return log
}
