import { cookies } from "next/headers";

export async function GET() {
  (await cookies()).delete("user");
  return Response.json({ ok: true });
}
