// The sudo prompt responder, chunk by chunk: the password only at sudo's prompt, stdin only once the command runs, markers out of stderr.
import { describe, expect, it } from 'vitest';
import { newSudoPrompt, respondToSudo, sudoWireWithPassword } from '../../src/ssh/sudo-prompt.js';

function harness(stdin?: string) {
  const p = newSudoPrompt('s3cret-pw');
  const sent: string[] = [];
  let ended = false;
  const r = respondToSudo(p, { write: (t) => sent.push(t), end: (t) => { if (t !== undefined) sent.push(t); ended = true; } }, stdin);
  return { p, r, sent, ended: () => ended };
}

describe('respondToSudo', () => {
  it('answers the prompt once, then hands the command its stdin when it starts; markers split over chunks are found', () => {
    const h = harness('input\n');
    const half = Math.floor(h.p.prompt.length / 2);
    // Held back until a marker settles what it is; then passed on without the marker.
    expect(h.r.stderr(`sudo: a note\n${h.p.prompt.slice(0, half)}`)).toBe('');
    expect(h.sent).toEqual([]);
    expect(h.r.stderr(h.p.prompt.slice(half))).toBe('sudo: a note\n');
    expect(h.sent).toEqual(['s3cret-pw\n']);
    expect(h.ended()).toBe(false);
    expect(h.r.stderr(`${h.p.started}\nfirst line of the command\n`)).toBe('first line of the command\n');
    expect(h.sent).toEqual(['s3cret-pw\n', 'input\n']);
    expect(h.ended()).toBe(true);
    expect(h.r.stderr(`${h.p.prompt} later text is the command's own`)).toBe(`${h.p.prompt} later text is the command's own`);
    expect(h.r.refused()).toBe(false);
  });

  it('never sends the password when sudo does not ask', () => {
    const h = harness();
    expect(h.r.stderr(`${h.p.started}\n`)).toBe('');
    expect(h.sent).toEqual([]);
    expect(h.ended()).toBe(true);
  });

  it('a second prompt means the password was refused: stdin is ended, not answered again', () => {
    const h = harness('never sent');
    h.r.stderr(h.p.prompt);
    expect(h.r.stderr(`Sorry, try again.\n${h.p.prompt}`)).toBe('Sorry, try again.\n');
    expect(h.sent).toEqual(['s3cret-pw\n']);
    expect(h.ended()).toBe(true);
    expect(h.r.refused()).toBe(true);
    expect(h.r.stderr('\nsudo: 1 incorrect password attempt\n')).toBe('');
    expect(h.r.flush()).toBe('\nsudo: 1 incorrect password attempt\n');
  });

  it('the wire command carries the markers and never the password', () => {
    const p = newSudoPrompt('s3cret-pw');
    const wire = sudoWireWithPassword(p, 'id -u', 'www-data');
    expect(wire).toContain(`sudo -S -p '${p.prompt}' -u www-data -- sh -c`);
    expect(wire).toContain(p.started);
    expect(wire).not.toContain('s3cret-pw');
  });
});
