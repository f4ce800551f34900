import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { StoredToken, TokenStore } from "../../core/ports.ts";
import { conditionHeld, ignoreConditionFailure } from "./transactions.ts";

/**
 * The shared access token: one item per app id holding the token, whether a sender reported it
 * refused, where it came from, and the refresher's lock.
 */
export class DynamoTokenStore implements TokenStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly appId: string,
  ) {}

  async read(): Promise<StoredToken | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { appId: this.appId }, ConsistentRead: true }),
    );
    if (typeof Item?.accessToken !== "string" || typeof Item.expiresAt !== "number") return undefined;
    return { accessToken: Item.accessToken, expiresAt: Item.expiresAt, rejected: Item.rejected === true };
  }

  async markRejected(accessToken: string, now: number): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.table,
        Key: { appId: this.appId },
        ConditionExpression: "accessToken = :token AND (attribute_not_exists(rejected) OR rejected = :no)",
        UpdateExpression: "SET rejected = :yes, rejectedAt = :now",
        ExpressionAttributeValues: { ":token": accessToken, ":yes": true, ":no": false, ":now": now },
      }),
    );
  }

  tryLock(owner: string, until: number, now: number, refreshBy: number): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.table,
        Key: { appId: this.appId },
        ConditionExpression:
          "(attribute_not_exists(lockUntil) OR lockUntil < :now) AND " +
          "(attribute_not_exists(accessToken) OR rejected = :yes OR expiresAt <= :refreshBy)",
        UpdateExpression: "SET lockOwner = :owner, lockUntil = :until",
        ExpressionAttributeValues: {
          ":owner": owner,
          ":until": until,
          ":now": now,
          ":refreshBy": refreshBy,
          ":yes": true,
        },
      }),
    );
  }

  async unlock(owner: string): Promise<void> {
    await ignoreConditionFailure(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { appId: this.appId },
          ConditionExpression: "lockOwner = :owner",
          UpdateExpression: "REMOVE lockOwner, lockUntil",
          ExpressionAttributeValues: { ":owner": owner },
        }),
      ),
    );
  }

  async write(token: Omit<StoredToken, "rejected">, now: number): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: { appId: this.appId, ...token, rejected: false, source: "refresher", updatedAt: now },
      }),
    );
  }

  async accept(token: Omit<StoredToken, "rejected">, now: number): Promise<"stored" | "superseded"> {
    // The same token again (the central server re-pushes on a schedule): a new expiry, and a refusal
    // stands; only a new token ends it.
    const renewed = await this.conditional(
      new UpdateCommand({
        TableName: this.table,
        Key: { appId: this.appId },
        ConditionExpression: "accessToken = :token",
        UpdateExpression: "SET expiresAt = :expiresAt, updatedAt = :now",
        ExpressionAttributeValues: {
          ":token": token.accessToken,
          ":expiresAt": token.expiresAt,
          ":now": now,
        },
      }),
    );
    if (renewed) return "stored";
    const replaced = await this.conditional(
      new PutCommand({
        TableName: this.table,
        Item: { appId: this.appId, ...token, rejected: false, source: "external", updatedAt: now },
        ConditionExpression:
          "attribute_not_exists(accessToken) OR rejected = :yes OR expiresAt <= :expiresAt",
        ExpressionAttributeValues: { ":yes": true, ":expiresAt": token.expiresAt },
      }),
    );
    return replaced ? "stored" : "superseded";
  }

  /** Sends a conditional write; false when its condition failed. */
  private async conditional(command: UpdateCommand | PutCommand): Promise<boolean> {
    return conditionHeld(command instanceof PutCommand ? this.db.send(command) : this.db.send(command));
  }
}
