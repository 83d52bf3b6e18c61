import { cookies } from "next/headers";

export async function GET(request) {
  (await cookies()).set("user", new URL(request.url).searchParams.get("user"), { httpOnly: true, sameSite: "lax" });
  return Response.json({ ok: true });
}
