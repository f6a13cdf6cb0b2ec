// One test case in the list: title (which opens its description, preconditions and steps), badges for
// suite, priority, type and tags, and Edit and Delete for members who may edit projects.
import { Badge, Button } from '../../components/ui';
import type { Priority, TestCase } from '../automation/types';

const PRIORITY_STYLE: Record<Priority, string> = {
  low: 'bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-300',
  medium: 'bg-sky-100 text-sky-800 dark:bg-sky-900 dark:text-sky-200',
  high: 'bg-amber-100 text-amber-800 dark:bg-amber-900 dark:text-amber-200',
  critical: 'bg-red-100 text-red-800 dark:bg-red-900 dark:text-red-200',
};

type Props = { c: TestCase; open: boolean; onToggle: () => void; editable: boolean; onEdit: () => void; onDelete: () => void };

export function CaseRow({ c, open, onToggle, editable, onEdit, onDelete }: Props) {
  return (
    <li class='px-4 py-3'>
      <div class='flex flex-wrap items-center gap-2'>
        <button type='button' class='min-w-0 flex-1 truncate text-left font-medium hover:underline' aria-expanded={open} onClick={onToggle}>
          {c.title}
        </button>
        {c.suite && <Badge class='bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-300'>{c.suite}</Badge>}
        <Badge class={PRIORITY_STYLE[c.priority]}>{c.priority}</Badge>
        <Badge class='bg-indigo-50 text-indigo-700 dark:bg-indigo-950 dark:text-indigo-300'>{c.type}</Badge>
        {c.tags.map((t) => (
          <Badge key={t} class='bg-white text-slate-600 ring-1 ring-slate-200 dark:bg-slate-900 dark:text-slate-400 dark:ring-slate-700'>
            #{t}
          </Badge>
        ))}
        <span class='text-xs text-slate-500'>{c.steps.length} steps</span>
        {editable && (
          <Button variant='ghost' onClick={onEdit}>
            Edit
          </Button>
        )}
        {editable && (
          <Button variant='ghost' onClick={onDelete} aria-label={`Delete ${c.title}`}>
            Delete
          </Button>
        )}
      </div>
      {open && (
        <div class='mt-2 space-y-2 text-sm'>
          {c.description && <p class='text-slate-600 dark:text-slate-400'>{c.description}</p>}
          {c.preconditions && (
            <p>
              <span class='font-medium'>Preconditions:</span> {c.preconditions}
            </p>
          )}
          <ol class='list-decimal space-y-1 pl-5'>
            {c.steps.map((s, i) => (
              <li key={i}>
                {s.action}
                {s.expected && <span class='text-slate-500'> → {s.expected}</span>}
              </li>
            ))}
          </ol>
        </div>
      )}
    </li>
  );
}
