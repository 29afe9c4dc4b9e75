import { Sandbox } from "@codepod/sdk";

// The client reads CODEPOD_SERVER_URL and CODEPOD_API_KEY, else the CLI's config file.
await using sb = await Sandbox.create({ image: "codepod/tiny:latest", memory: "64m" });
const result = await sb.exec(["echo", "hello from", sb.name]);
console.log(result.stdout.trim(), "- exit code", result.exitCode);
await sb.files.write("notes/hello.txt", "hi there\n");
console.log(await sb.files.readText("notes/hello.txt"));
const slow = await sb.exec("sleep 30", { timeoutMs: 1000 });
console.log("timed out:", slow.timedOut);
