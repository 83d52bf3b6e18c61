// A static page (prerendered by next build) with client components: the docs' SupportButton.
import { SupportButton } from "./docs-react";
import { SignIn, Status } from "./session";

export default function Page() {
  return (
    <main>
      <h1>Shop</h1>
      <SignIn />
      <Status />
      <SupportButton />
    </main>
  );
}
