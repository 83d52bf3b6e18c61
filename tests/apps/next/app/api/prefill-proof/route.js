// The app's backend: the proof for its signed-in user (userHash, docs/widget.md), a moment after sign-in.
import { createHmac } from "node:crypto";
import { cookies } from "next/headers";

export async function GET() {
  const user = (await cookies()).get("user")?.value;
  if (!user) return Response.json({ error: "signed out" }, { status: 401 });
  await new Promise((resolve) => setTimeout(resolve, 400));
  return Response.json({ userHash: createHmac("sha256", process.env.PREFILL_IDENTITY_SECRET).update(user).digest("hex") });
}
