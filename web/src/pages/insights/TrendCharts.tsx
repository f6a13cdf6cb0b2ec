// Pass rate and duration (p50, p95) per day over the window, side by side.
import { LineChart } from '../../components/LineChart';
import { Card } from '../../components/ui';
import { duration } from '../../lib/format';
import type { DayPoint } from './types';

export function TrendCharts({ series }: { series: DayPoint[] }) {
  return (
    <div class='grid gap-4 lg:grid-cols-2'>
      <Card>
        <LineChart
          title='Pass rate'
          labels={series.map((p) => p.day)}
          series={[{ label: 'pass rate', values: series.map((p) => p.passRate), color: '#16a34a' }]}
          format={(v) => `${Math.round(v * 100)}%`}
        />
      </Card>
      <Card>
        <LineChart
          title='Duration'
          labels={series.map((p) => p.day)}
          format={(v) => duration(v)}
          series={[
            { label: 'p50', values: series.map((p) => p.p50Ms), color: '#4f46e5' },
            { label: 'p95', values: series.map((p) => p.p95Ms), color: '#f59e0b' },
          ]}
        />
      </Card>
    </div>
  );
}
