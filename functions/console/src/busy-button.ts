import { type Ctx, errorText, isSignedOut } from "./context.ts";
import { say } from "./dom.ts";

/**
 * Runs what a button does with the button disabled, so it cannot be sent twice; a failure (other
 * than a 401, already answered by signing out) is said in `message` after `failed`.
 */
export async function whileDisabled(
  ctx: Ctx,
  button: HTMLButtonElement,
  message: HTMLElement,
  failed: string,
  work: () => Promise<void>,
): Promise<void> {
  button.disabled = true;
  try {
    await work();
  } catch (error) {
    if (!isSignedOut(error)) say(message, failed + errorText(error, ctx.t), true);
  } finally {
    button.disabled = false;
  }
}
