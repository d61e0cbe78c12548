import type { AnyStateMachine, AnyStateNode } from 'xstate';

/** A Mermaid-safe id for a state node (`Failed.deciding` → `Failed_deciding`). */
function idOf(node: AnyStateNode): string {
  return node.path.length === 0 ? 'root' : node.path.join('_');
}

/** A short label for an event type: `done prepare`, `error stopSource`, `after freeze`. */
export function eventLabel(eventType: string): string {
  const done = /^xstate\.done\.actor\.(.+)$/.exec(eventType);
  if (done) return `done ${done[1]}`;
  const error = /^xstate\.error\.actor\.(.+)$/.exec(eventType);
  if (error) return `error ${error[1]}`;
  const after = /^xstate\.after\.([^.]+)\./.exec(eventType);
  if (after) return `after ${after[1]}`;
  return eventType;
}

function guardLabel(guard: unknown): string {
  if (typeof guard === 'string') return guard;
  if (guard && typeof guard === 'object' && 'type' in guard) {
    const g = guard as { type: string; params?: unknown };
    // decisionIs / fallbackIs: the decision is the label.
    if (g.params && typeof g.params === 'object' && 'action' in g.params) {
      return `${String((g.params as { action: string }).action)}`;
    }
    return g.type;
  }
  return 'guard';
}

/**
 * Renders the machine's states and transitions as a Mermaid `stateDiagram-v2`, from the state
 * nodes themselves (so it cannot drift from the definition). Transitions without a target
 * (refusals, which only emit) are left out; parallel edges between two states are merged.
 */
export function toMermaid(machine: AnyStateMachine): string {
  const lines = ['stateDiagram-v2'];
  const edges = new Map<string, string[]>();

  const declare = (node: AnyStateNode, indent: string) => {
    for (const child of Object.values(node.states) as AnyStateNode[]) {
      const id = idOf(child);
      const children = Object.values(child.states) as AnyStateNode[];
      if (children.length > 0) {
        lines.push(`${indent}state ${id} {`);
        declare(child, `${indent}  `);
        lines.push(`${indent}}`);
      } else if (id !== child.key) {
        lines.push(`${indent}state "${child.key}" as ${id}`);
      }
      for (const tag of child.tags) lines.push(`${indent}note right of ${id} : tag ${tag}`);
    }
    const initial = node.initial?.target?.[0] as AnyStateNode | undefined;
    if (initial) lines.push(`${indent}[*] --> ${idOf(initial)}`);
  };

  const collect = (node: AnyStateNode) => {
    for (const [eventType, list] of node.transitions) {
      for (const t of list) {
        for (const target of (t.target ?? []) as AnyStateNode[]) {
          const key = `${idOf(node)} --> ${idOf(target)}`;
          const label = t.guard === undefined ? eventLabel(eventType) : `${eventLabel(eventType)} [${guardLabel(t.guard)}]`;
          const labels = edges.get(key) ?? [];
          if (!labels.includes(label)) labels.push(label);
          edges.set(key, labels);
        }
      }
    }
    for (const child of Object.values(node.states) as AnyStateNode[]) collect(child);
  };

  declare(machine.root, '  ');
  collect(machine.root);
  for (const [key, labels] of edges) lines.push(`  ${key} : ${labels.join(', ')}`);
  return `${lines.join('\n')}\n`;
}
