// The insights page's pickers: which project (a page of its own, so in the URL) and which window of days.
import { inputClass } from '../../components/ui';
import { navigate } from '../../lib/router';
import type { Project } from '../../lib/types';

const WINDOWS = [7, 30, 90];

type Props = { projects: Project[]; projectId: string; days: number; onDays: (days: number) => void };

export function InsightsControls({ projects, projectId, days, onDays }: Props) {
  return (
    <div class='flex flex-wrap gap-2'>
      <select aria-label='Project' class={inputClass} value={projectId} onChange={(e) => navigate(`/insights/${(e.currentTarget as HTMLSelectElement).value}`)}>
        {projects.map((p) => (
          <option key={p.id} value={p.id}>
            {p.name}
          </option>
        ))}
      </select>
      <select aria-label='Window' class={inputClass} value={days} onChange={(e) => onDays(Number((e.currentTarget as HTMLSelectElement).value))}>
        {WINDOWS.map((w) => (
          <option key={w} value={w}>
            Last {w} days
          </option>
        ))}
      </select>
    </div>
  );
}
