import { type TableDef, type TableKey, tables } from "../common/definitions.ts";

export type { TableKey } from "../common/definitions.ts";

/**
 * The DynamoDB tables of definitions.ts: on-demand, TTL where records expire, point-in-time recovery
 * only where they hold money or consent (`critical`; SST turns it on everywhere by default).
 */
export function createTables(): Record<TableKey, sst.aws.Dynamo> {
  const entries = Object.entries(tables) as [TableKey, TableDef][];
  return Object.fromEntries(entries.map(([key, def]) => [key, createTable(def)])) as Record<
    TableKey,
    sst.aws.Dynamo
  >;
}

function createTable(def: TableDef): sst.aws.Dynamo {
  const fieldType = (type: "S" | "N") => (type === "S" ? "string" : "number");
  const fields: Record<string, "string" | "number"> = {};
  for (const key of [
    def.hashKey,
    def.rangeKey,
    ...(def.indexes ?? []).flatMap((i) => [i.hashKey, i.rangeKey]),
  ])
    if (key) fields[key.name] = fieldType(key.type);
  return new sst.aws.Dynamo(def.name, {
    fields,
    primaryIndex: { hashKey: def.hashKey.name, ...(def.rangeKey ? { rangeKey: def.rangeKey.name } : {}) },
    globalIndexes: Object.fromEntries(
      (def.indexes ?? []).map((i) => [
        i.name,
        { hashKey: i.hashKey.name, ...(i.rangeKey ? { rangeKey: i.rangeKey.name } : {}) },
      ]),
    ),
    ...(def.ttlAttribute ? { ttl: def.ttlAttribute } : {}),
    transform: {
      table: (args: aws.dynamodb.TableArgs) => {
        args.pointInTimeRecovery = { enabled: def.critical };
        // Encrypted at rest with the AWS-managed KMS key (aws/dynamodb), so use shows in CloudTrail.
        args.serverSideEncryption = { enabled: true };
      },
    },
  });
}
