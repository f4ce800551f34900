import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import type { CachedToken, TokenStore } from "../../core/ports.ts";
import { ignoreConditionFailure, isConditionFailure } from "./transactions.ts";

/** The shared access-token cache: one item per app id holding the token and the refresh lock. */
export class DynamoTokenStore implements TokenStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly appId: string,
  ) {}

  async read(): Promise<CachedToken | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { appId: this.appId }, ConsistentRead: true }),
    );
    if (typeof Item?.accessToken !== "string" || typeof Item.expiresAt !== "number") return undefined;
    return { accessToken: Item.accessToken, expiresAt: Item.expiresAt };
  }

  async tryLock(owner: string, until: number, now: number, freshUntil: number): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { appId: this.appId },
          ConditionExpression:
            "(attribute_not_exists(lockUntil) OR lockUntil < :now) AND " +
            "(attribute_not_exists(accessToken) OR expiresAt < :freshUntil)",
          UpdateExpression: "SET lockOwner = :owner, lockUntil = :until",
          ExpressionAttributeValues: {
            ":owner": owner,
            ":until": until,
            ":now": now,
            ":freshUntil": freshUntil,
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async write(token: CachedToken): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: { appId: this.appId, accessToken: token.accessToken, expiresAt: token.expiresAt },
      }),
    );
  }

  async discard(accessToken: string): Promise<void> {
    await ignoreConditionFailure(
      this.db.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { appId: this.appId },
          ConditionExpression:
            "accessToken = :token AND (attribute_not_exists(lockUntil) OR lockUntil < :now)",
          ExpressionAttributeValues: { ":token": accessToken, ":now": Date.now() },
        }),
      ),
    );
  }
}
