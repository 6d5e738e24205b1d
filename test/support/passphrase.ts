/**
 * The passphrase secrets manager's check of a passphrase against a stack's `encryptionsalt`, as pulumi/pulumi does it
 * (pkg/secrets/passphrase/manager.go symmetricCrypterFromPhraseAndState; sdk/go/common/resource/config/crypt.go):
 * state `v1:<salt b64>:v1:<nonce b64>:<AES-256-GCM of "pulumi", tag appended, b64>`, key PBKDF2-SHA256(passphrase,
 * salt, 1,000,000 iterations, 32 bytes). A stack config with a salt is used as it is (NewPromptingPassphraseSecretsManager
 * "If we have a salt, we can just use it"), and not saved again (needsSaveProjectStackAfterSecretManger); any other
 * passphrase is refused with "incorrect passphrase".
 */
import { createDecipheriv, pbkdf2Sync } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as yaml from "js-yaml";

export function decryptsWith(passphrase: string, state: string): boolean {
    const [version, salt, innerVersion, nonce, sealed] = state.split(":");
    if (version !== "v1" || innerVersion !== "v1") return false;
    const key = pbkdf2Sync(passphrase, Buffer.from(salt, "base64"), 1_000_000, 32, "sha256");
    const bytes = Buffer.from(sealed, "base64");
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(nonce, "base64"));
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    try {
        return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]).toString("utf8") === "pulumi";
    } catch {
        return false;
    }
}

/** The `encryptionsalt` of `Pulumi.<stack>.yaml` in `root`, or undefined when it has none. */
export function stackSalt(root: string, stack: string): string | undefined {
    const file = yaml.load(readFileSync(join(root, `Pulumi.${stack}.yaml`), "utf8")) as { encryptionsalt?: string } | null;
    return file?.encryptionsalt;
}
