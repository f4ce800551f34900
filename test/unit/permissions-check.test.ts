import { describe, expect, it } from "vitest";
import { accessBeyondPermissions } from "../e2e/permissions.ts";

describe("accessBeyondPermissions", () => {
  it("passes what the definitions grant and names everything else", () => {
    expect(
      accessBeyondPermissions({
        notify: { "dynamodb:UpdateItem Posts": 3, "sqs:SendMessage FanoutQueue": 1 },
        admin: { "dynamodb:Query Posts/index/byCreatedAt": 2 },
      }),
    ).toEqual([]);
    expect(
      accessBeyondPermissions({
        notify: {
          "dynamodb:DeleteItem Posts": 1,
          "dynamodb:GetItem Subscribers": 1,
          "sqs:SendMessage SendQueue": 1,
        },
        callback: { "dynamodb:GetItem Subscribers/index/any": 1 },
        nobody: { "dynamodb:GetItem Posts": 1 },
      }),
    ).toEqual([
      "notify: dynamodb:DeleteItem Posts",
      "notify: dynamodb:GetItem Subscribers",
      "notify: sqs:SendMessage SendQueue",
      "callback: dynamodb:GetItem Subscribers/index/any",
      "nobody: dynamodb:GetItem Posts",
    ]);
  });
});
