/**
 * npm run report -- KEY: the report of one order file (`reports/<KEY>.json`, written by the validator when the file
 * is done): what was accepted, what was rejected by reason, and the first rejects with their line.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3'
import { Command } from 'commander'
import { cloudFormationClient, s3Client } from '../lib/aws/clients.ts'
import { reportKey, type FileReport } from '../lib/intake/report.ts'
import { notFound, run, withAwsOptions, type AwsOptions } from './cli.ts'
import { formatTable } from './format.ts'
import { intakeKey } from './ops/paths.ts'
import { describeDeployment, listResources, stackNameOf } from './stack/deployment.ts'

type Options = AwsOptions & { bucket?: string; stackName?: string }

const program = withAwsOptions(new Command('report'))
  .description("Print an order file's intake report: accepted, rejected by reason, the first rejects with their line.")
  .argument(
    '<key>',
    "the order file's key, as uploaded, under orders/ or raw/ (e.g. orders/2026-01-07.jsonl or raw/year=2026/…/orders.jsonl.gz)",
    (key: string) => intakeKey('<key>', key),
  )
  .option('--bucket <name>', "the intake bucket (default: the deployment's, from its stack)")
  .option('--stack-name <name>', 'stack name (default <prefix>-order-pipeline)')
  .addHelpText(
    'after',
    '\nThe report is reports/<key>.json in the intake bucket; it is written once the whole file is read.',
  )
  .action(async (key: string, options: Options) => {
    const bucket =
      options.bucket ??
      describeDeployment(
        await listResources(cloudFormationClient(options), options.stackName ?? stackNameOf(options.prefix)).catch(
          (err: unknown) => {
            throw notFound(
              err,
              `stack ${options.stackName ?? stackNameOf(options.prefix)} not found (or give --bucket)`,
            )
          },
        ),
        options.prefix,
        options.region,
      ).bucket
    const object = await s3Client(options)
      .send(new GetObjectCommand({ Bucket: bucket, Key: reportKey(key) }))
      .catch((err: unknown) => {
        const name = (err as { name?: string }).name
        if (name === 'NoSuchKey' || name === 'AccessDenied')
          throw new Error(`no report for ${key} in ${bucket}: is the key right, and has the file been read to its end?`)
        throw err
      })
    const report = JSON.parse(await object.Body!.transformToString()) as FileReport
    if (options.json) {
      console.log(JSON.stringify(report, null, 2))
      return
    }
    console.log(`s3://${report.bucket}/${report.key}${report.versionId ? ` (version ${report.versionId})` : ''}`)
    console.log(
      `${report.accepted} accepted, ${report.rejected} rejected, ${report.linesPerSecond} lines/s, ` +
        `${(report.durationMs / 1000).toFixed(1)} s (${report.startedAt} → ${report.finishedAt})` +
        ((report.ranges ?? 1) > 1 ? `, read in ${report.ranges} ranges side by side` : ''),
    )
    const reasons = Object.entries(report.rejectedByReason).map(([reason, count]) => ({ reason, count }))
    if (reasons.length > 0) console.log(`\n${formatTable(reasons, ['reason', 'count'])}`)
    if (report.rejects.length > 0) {
      const more = report.rejected > report.rejects.length ? ` (the first ${report.rejects.length})` : ''
      console.log(`\nrejects${more}\n${formatTable(report.rejects, ['line', 'class', 'reason'])}`)
    }
  })

if (import.meta.url === `file://${process.argv[1]}`) await run(program)
export { program }
