// Reads iCalendar files with ical.js, the parser of Thunderbird and many web
// calendars, as they read a mail's or a feed's calendar: the file's own VTIMEZONE
// blocks are registered first. Prints, per file, each event's UID and its start and
// end in UTC as JSON.
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

const result = process.argv.slice(2).map((path) => {
  const calendar = new ICAL.Component(ICAL.parse(readFileSync(path, "utf8")));
  for (const zone of calendar.getAllSubcomponents("vtimezone")) {
    ICAL.TimezoneService.register(zone);
  }
  return {
    method: calendar.getFirstPropertyValue("method"),
    events: calendar.getAllSubcomponents("vevent").map((component) => {
      const event = new ICAL.Event(component);
      return {
        uid: event.uid,
        start: event.startDate.toJSDate().toISOString(),
        end: event.endDate.toJSDate().toISOString(),
        summary: event.summary,
        status: component.getFirstPropertyValue("status"),
        sequence: event.sequence,
      };
    }),
  };
});
process.stdout.write(JSON.stringify(result));
