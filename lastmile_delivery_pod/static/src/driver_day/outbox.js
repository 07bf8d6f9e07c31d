/**
 * The phone's outbox: what the driver reported at a stop is kept in IndexedDB before it is
 * sent, and sent again until the server answers. Each capture carries its own key, so a
 * capture sent twice (a retry after a lost answer, a double tap) is stored once by the server.
 *
 * A capture leaves the outbox only when the server answers that it has it (a JSON 2xx, not a
 * login page the request was redirected to). A refusal (4xx) keeps it on the phone, marked
 * with the server's message, for the driver to see and discard; a network failure, a timeout,
 * an expired session or a 5xx keeps it for the next try.
 */

const TIMEOUT_MS = 60000; // a few photos over a weak signal

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
            transaction.onabort = () => reject(transaction.error || new Error("IndexedDB aborted"));
        });
    } finally {
        db.close();
    }
}

/** An answer that is not the endpoint's (a login page, not a server error): the session has ended. */
export function sessionEnded(answer) {
    return !answer.answered && answer.status < 500;
}

/**
 * POST ``body`` as JSON. Resolves to ``{status, payload, answered}``: ``answered`` is false
 * when what came back is not the endpoint's JSON (the session expired and the request was
 * redirected to the login page, a Wi-Fi portal answered instead). Rejects on a network
 * failure or after TIMEOUT_MS.
 */
export async function postJson(url, body) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
    try {
        const response = await fetch(url, {
            method: "POST",
            credentials: "same-origin",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify(body),
            signal: controller.signal,
        });
        const isJson = (response.headers.get("Content-Type") || "").includes("application/json");
        let payload = {};
        if (isJson) {
            try {
                payload = await response.json();
            } catch {
                payload = {};
            }
        }
        return { status: response.status, payload, answered: isJson && !response.redirected };
    } finally {
        clearTimeout(timer);
    }
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

    /** Keep ``item`` on the phone, refused by the server for ``message``: not sent again. */
    async refuse(item, message) {
        await withStore("readwrite", (store) => store.put({ ...item, refused: message }));
    }

    /**
     * Send what waits, oldest first, one at a time. Resolves to {sent: [items], refused:
     * [{item, message}], loggedOut}; stops at the first network failure or answer that is not
     * the server's (the rest waits with it).
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
        const result = { sent: [], refused: [], loggedOut: false };
        const items = (await this.list()).filter((item) => !item.refused).sort((a, b) => a.queuedAt - b.queuedAt);
        for (const item of items) {
            let answer;
            try {
                answer = await postJson(item.url, item.body);
            } catch {
                break; // offline, or no answer in time: everything waits
            }
            if (!answer.answered) {
                // not the endpoint's answer: a login page (the session expired) or a Wi-Fi portal
                result.loggedOut = sessionEnded(answer);
                break;
            }
            if (answer.status >= 200 && answer.status < 300) {
                await this.remove(item.key);
                result.sent.push({ item, payload: answer.payload });
            } else if (answer.status >= 400 && answer.status < 500) {
                const message = answer.payload.error || String(answer.status);
                await this.refuse(item, message);
                result.refused.push({ item, message });
            } else {
                break; // the server is in trouble: try again later
            }
        }
        return result;
    }
}
