// A test case as its editor holds it (optional texts as '', tags as one comma-separated string), and
// the conversions from a stored case and to the API's body.
import type { TestCase } from '../automation/types';

export type Draft = Omit<TestCase, 'id' | 'projectId' | 'createdAt' | 'updatedAt' | 'tags'> & { tags: string };

export const emptyDraft = (): Draft => ({
  title: '',
  suite: '',
  description: '',
  preconditions: '',
  steps: [],
  priority: 'medium',
  tags: '',
  type: 'manual',
  automatedTest: '',
});

export const toDraft = (c: TestCase): Draft => ({
  ...c,
  suite: c.suite ?? '',
  description: c.description ?? '',
  preconditions: c.preconditions ?? '',
  automatedTest: c.automatedTest ?? '',
  tags: c.tags.join(', '),
});

/** The body of a create or update: blank texts become null, steps without an action are dropped. */
export const draftBody = (d: Draft) => ({
  title: d.title.trim(),
  suite: d.suite?.trim() || null,
  description: d.description?.trim() || null,
  preconditions: d.preconditions?.trim() || null,
  steps: d.steps.filter((s) => s.action.trim()),
  priority: d.priority,
  type: d.type,
  automatedTest: d.type === 'automated' ? d.automatedTest?.trim() || null : null,
  tags: d.tags
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean),
});
