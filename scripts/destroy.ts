/**
 * npm run destroy: deletes the application stack, after emptying its intake bucket (every version), once confirmed.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { createInterface } from 'node:readline/promises'
import { Command } from 'commander'
import { DeleteStackCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation'
import { DeleteObjectsCommand, ListObjectVersionsCommand, type S3Client } from '@aws-sdk/client-s3'
import { listResources } from './stack/deployment.ts'
import { notFound, run, withAwsOptions, type AwsOptions } from './cli.ts'
import { s3Client, cloudFormationClient } from '../lib/aws/clients.ts'
import { stackNameOf } from './stack/deployment.ts'

/** Deletes every object version and delete marker. @returns how many were deleted */
export const emptyBucket = async (
  s3: S3Client,
  bucket: string,
  onProgress?: (deleted: number) => void,
): Promise<number> => {
  let deleted = 0
  for (;;) {
    const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, MaxKeys: 1000 }))
    const objects = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((v) => ({
      Key: v.Key!,
      VersionId: v.VersionId,
    }))
    if (objects.length === 0) return deleted
    const { Errors = [] } = await s3.send(
      new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } }),
    )
    if (Errors.length > 0)
      throw new Error(
        `could not delete ${Errors.length} objects of ${bucket}: ${Errors[0]?.Code} ${Errors[0]?.Message}`,
      )
    deleted += objects.length
    onProgress?.(deleted)
  }
}

const program = withAwsOptions(new Command('destroy'))
  .description('Delete the application stack, emptying its intake bucket first (asks to confirm unless --yes).')
  .option('--stack-name <name>', 'stack name (default <prefix>-order-pipeline)')
  .option('--yes', 'do not ask')
  .addHelpText(
    'after',
    `
The orders table is kept (DeletionPolicy Retain): delete it with aws dynamodb delete-table once you are sure.
The artifacts bucket of scripts/deploy.sh and the delivery pipeline stack are not touched.`,
  )
  .action(async (options: AwsOptions & { stackName?: string; yes?: boolean }) => {
    const cfn = cloudFormationClient(options)
    const s3 = s3Client(options)
    const stackName = options.stackName ?? stackNameOf(options.prefix)
    const resources = await listResources(cfn, stackName).catch((err: unknown) => {
      throw notFound(err, `stack ${stackName} not found (are --prefix, --region and --endpoint right?)`)
    })
    const buckets = resources.filter((r) => r.type === 'AWS::S3::Bucket').map((r) => r.physicalId)
    const tables = resources.filter((r) => r.type === 'AWS::DynamoDB::Table').map((r) => r.physicalId)
    if (!options.yes) {
      if (!process.stdin.isTTY) throw new Error('refusing to delete without a terminal to confirm: pass --yes')
      const rl = createInterface({ input: process.stdin, output: process.stdout })
      const answer = await rl.question(
        `Delete stack ${stackName} and every object of ${buckets.join(', ') || 'no bucket'}? Type the stack name to confirm: `,
      )
      rl.close()
      if (answer.trim() !== stackName) throw new Error('not confirmed: nothing deleted')
    }
    for (const bucket of buckets) {
      const n = await emptyBucket(s3, bucket, (deleted) =>
        process.stderr.write(`\remptying ${bucket}: ${deleted} deleted`),
      )
      console.log(`${n > 0 ? '\n' : ''}emptied ${bucket} (${n} object versions)`)
    }
    await cfn.send(new DeleteStackCommand({ StackName: stackName }))
    const deadline = Date.now() + 30 * 60_000
    for (;;) {
      const status = await cfn.send(new DescribeStacksCommand({ StackName: stackName })).then(
        (r) => r.Stacks?.[0]?.StackStatus,
        () => 'DELETE_COMPLETE',
      )
      if (status === 'DELETE_COMPLETE' || status === undefined) break
      if (status === 'DELETE_FAILED')
        throw new Error(
          `deleting ${stackName} failed: aws cloudformation describe-stack-events --stack-name ${stackName}`,
        )
      if (Date.now() > deadline) throw new Error(`${stackName} is still ${status} after 30 minutes`)
      process.stderr.write(`\r${stackName}: ${status}   `)
      await sleep(5000)
    }
    console.log(`deleted stack ${stackName}`)
    for (const table of tables)
      console.log(`kept table ${table} (DeletionPolicy Retain): aws dynamodb delete-table --table-name ${table}`)
  })

if (import.meta.url === `file://${process.argv[1]}`) await run(program)
export { program }
