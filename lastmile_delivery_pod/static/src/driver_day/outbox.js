/**
 * The phone's outbox: what the driver reported at a stop is kept in IndexedDB before it is
 * sent, and sent again until the server answers. Each capture carries its own key, so a
 * capture sent twice (a retry after a lost answer, a double tap) is stored once by the server.
 *
 * A capture leaves the outbox when the server has it (2xx) or refuses it for good (4xx, the
 * message is kept for the driver); a network failure or a 5xx keeps it for the next try.
 */

const DB_NAME = "lastmile_delivery_pod";
const STORE = "outbox";

function openDb() {
    return new Promise((resolve, reject) => {
        const request = indexedDB.open(DB_NAME, 1);
        request.onupgradeneeded = () => {
            request.result.createObjectStore(STORE, { keyPath: "key" });
        };
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
    });
}

async function withStore(mode, action) {
    const db = await openDb();
    try {
        return await new Promise((resolve, reject) => {
            const transaction = db.transaction(STORE, mode);
            const result = action(transaction.objectStore(STORE));
            transaction.oncomplete = () => resolve(result && "result" in result ? result.result : result);
            transaction.onerror = () => reject(transaction.error);
        });
    } finally {
        db.close();
    }
}

export async function postJson(url, body) {
    const response = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
    });
    let payload = {};
    try {
        payload = await response.json();
    } catch {
        payload = {};
    }
    return { status: response.status, payload };
}

export class Outbox {
    constructor(userId) {
        this.userId = userId;
        this.sending = null;
    }

    /** Keep ``item`` (JSON data: reactive proxies of the screen cannot be stored as such). */
    async add(item) {
        const record = JSON.parse(JSON.stringify({ ...item, userId: this.userId, queuedAt: Date.now() }));
        await withStore("readwrite", (store) => store.put(record));
    }

    async list() {
        const items = await withStore("readonly", (store) => store.getAll());
        return (items || []).filter((item) => item.userId === this.userId);
    }

    async remove(key) {
        await withStore("readwrite", (store) => store.delete(key));
    }

    /**
     * Send what waits, oldest first, one at a time. Resolves to {sent: [items], refused:
     * [{item, message}]}; stops at the first network failure (the rest waits with it).
     */
    flush() {
        if (!this.sending) {
            this.sending = this._flush().finally(() => {
                this.sending = null;
            });
        }
        return this.sending;
    }

    async _flush() {
        const result = { sent: [], refused: [] };
        const items = (await this.list()).sort((a, b) => a.queuedAt - b.queuedAt);
        for (const item of items) {
            let answer;
            try {
                answer = await postJson(item.url, item.body);
            } catch {
                break; // offline: everything waits
            }
            if (answer.status >= 200 && answer.status < 300) {
                await this.remove(item.key);
                result.sent.push({ item, payload: answer.payload });
            } else if (answer.status >= 400 && answer.status < 500) {
                await this.remove(item.key);
                result.refused.push({ item, message: answer.payload.error || String(answer.status) });
            } else {
                break; // the server is in trouble: try again later
            }
        }
        return result;
    }
}
