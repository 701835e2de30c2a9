/** An order's workflow execution: named after the order, so that Step Functions keeps one per stored order. */
import { createHash } from 'node:crypto'

/**
 * The execution's name for an order: the order id where Step Functions takes it as a name (1 to 80 letters,
 * digits, hyphens and underscores), else `order-` + 40 hex digits of its SHA-256 (the same id, the same name).
 */
export const executionNameOf = (orderId: string): string =>
  /^[A-Za-z0-9_-]{1,80}$/.test(orderId)
    ? orderId
    : `order-${createHash('sha256').update(orderId).digest('hex').slice(0, 40)}`

/** The ARN of an order's execution: the state machine's, as an execution, and the order's name. */
export const executionArnOf = (stateMachineArn: string, orderId: string): string =>
  `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${executionNameOf(orderId)}`
